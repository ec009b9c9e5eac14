// Stubs for the packages the example's app code imports besides PostHog's
// (react-native, React Navigation, react-native-config): their real packages
// pull in React Native's toolchain. They declare only the names the example
// uses; posthog-react-native is real.
declare module 'react-native' {
  import type { ComponentType, ReactNode } from 'react'
  export const Text: ComponentType<{ children?: ReactNode }>
  export const Button: ComponentType<{ title: string; onPress: () => void }>
  export type StyleProp<T> = T | undefined
  export type ViewStyle = Record<string, unknown>
}

declare module '@react-navigation/native' {
  import type { ComponentType, ReactNode } from 'react'
  export interface NavigationContainerRef {
    getCurrentRoute(): { name: string } | undefined
  }
  export function useNavigationContainerRef(): NavigationContainerRef
  export const NavigationContainer: ComponentType<{
    ref?: NavigationContainerRef
    onStateChange?: () => void
    children?: ReactNode
  }>
}

declare module 'react-native-config' {
  const Config: { POSTHOG_PROJECT_TOKEN?: string; POSTHOG_HOST?: string }
  export default Config
}

// What React Native's Metro preset provides at bundle time.
declare const __DEV__: boolean
