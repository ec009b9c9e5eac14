export default function Home() {
  return <main>Acme: the product for teams</main>;
}
