export default function Settings() {
  return <main>Settings</main>;
}
