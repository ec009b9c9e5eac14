// Stands in for the router plugin's generated route tree: the root route alone.
import { createRootRoute } from '@tanstack/react-router'

export const routeTree = createRootRoute()
