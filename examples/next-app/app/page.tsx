import Link from "next/link";

export default function Home() {
  return (
    <section className="hero">
      <h1>Notes that keep up with you.</h1>
      <p>Write, link and find your notes from any device, online or off.</p>
      <Link href="/pricing" className="button">
        See plans
      </Link>
    </section>
  );
}
