import { Link } from "react-router";
import type { Route } from "./+types/home";

export function meta({}: Route.MetaArgs) {
  return [{ title: "Tracker" }, { name: "description", content: "Track your projects" }];
}

export default function Home() {
  return (
    <section>
      <h1>Keep every project on track</h1>
      <p>Create projects, star the ones that matter, and see them at a glance.</p>
      <Link to="/projects">Go to your projects</Link>
    </section>
  );
}
