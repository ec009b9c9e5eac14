export default function Home() {
  return <main>Dashboard</main>;
}
