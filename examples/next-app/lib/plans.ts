export type PlanId = "starter" | "pro" | "team";

export type Plan = {
  id: PlanId;
  name: string;
  priceUsd: number;
  features: string[];
};

export const PLANS: Plan[] = [
  {
    id: "starter",
    name: "Starter",
    priceUsd: 0,
    features: ["3 notebooks", "Markdown export"],
  },
  {
    id: "pro",
    name: "Pro",
    priceUsd: 8,
    features: ["Unlimited notebooks", "Offline mode", "Priority support"],
  },
  {
    id: "team",
    name: "Team",
    priceUsd: 20,
    features: ["Everything in Pro", "Shared workspaces", "Admin controls"],
  },
];

export function findPlan(id: unknown): Plan | undefined {
  return PLANS.find((plan) => plan.id === id);
}
