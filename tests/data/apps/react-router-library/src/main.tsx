import { createRoot } from "react-dom/client";
import { createBrowserRouter, RouterProvider } from "react-router";

const router = createBrowserRouter([{ path: "/", element: <h1>Home</h1> }]);

createRoot(document.getElementById("root")!).render(<RouterProvider router={router} />);
