export function RootStack() {
  return null
}
