import { IdentifyUser } from "./components/IdentifyUser";

export default function RootLayout({ children }: { children: React.ReactNode }) {
  return (
    <html lang="en">
      <body>
        <IdentifyUser />
        {children}
      </body>
    </html>
  );
}
