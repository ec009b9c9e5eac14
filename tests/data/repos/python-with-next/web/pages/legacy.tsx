export default function Legacy() { return <p>Old page</p>; }
