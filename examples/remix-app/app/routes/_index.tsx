import type { MetaFunction } from "@remix-run/node";
import { Link } from "@remix-run/react";

export const meta: MetaFunction = () => {
  return [{ title: "Tracker" }, { name: "description", content: "Track your projects" }];
};

export default function Home() {
  return (
    <section>
      <h1>Keep every project on track</h1>
      <p>Create projects, star the ones that matter, and see them at a glance.</p>
      <Link to="/projects">Go to your projects</Link>
    </section>
  );
}
