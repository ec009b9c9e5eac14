import { type RouteConfig, index, route } from "@react-router/dev/routes";

export default [
  index("routes/home.tsx"),
  route("login", "routes/login.tsx"),
  route("logout", "routes/logout.ts"),
  route("projects", "routes/projects.tsx"),
  route("api/projects/:projectId/star", "routes/api.project-star.ts"),
] satisfies RouteConfig;
