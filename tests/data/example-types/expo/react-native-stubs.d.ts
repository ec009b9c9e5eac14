// Stubs for the packages the example's app code imports besides PostHog's
// (react-native, expo-router): their real packages are hundreds of MB. They
// declare only the names the example uses; posthog-react-native is real.
declare module 'react-native' {
  import type { ComponentType, ReactNode } from 'react'
  export const Text: ComponentType<{ children?: ReactNode }>
  export const Button: ComponentType<{ title: string; onPress: () => void }>
  export type StyleProp<T> = T | undefined
  export type ViewStyle = Record<string, unknown>
}

declare module 'expo-router' {
  import type { ComponentType } from 'react'
  export function usePathname(): string
  export const Stack: ComponentType
}

// What Expo's Metro preset provides at bundle time.
declare const __DEV__: boolean
