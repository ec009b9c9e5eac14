import type { Metadata } from "next";
import SubscribeButton from "@/app/components/SubscribeButton";
import { PLANS } from "@/lib/plans";

export const metadata: Metadata = {
  title: "Pricing · Acme Notes",
};

export default function PricingPage() {
  return (
    <section>
      <h1>Pricing</h1>
      <div className="plans">
        {PLANS.map((plan) => (
          <article key={plan.id} className="plan">
            <h2>{plan.name}</h2>
            <p className="price">
              {plan.priceUsd === 0 ? "Free" : `$${plan.priceUsd} / month`}
            </p>
            <ul>
              {plan.features.map((feature) => (
                <li key={feature}>{feature}</li>
              ))}
            </ul>
            <SubscribeButton planId={plan.id} planName={plan.name} />
          </article>
        ))}
      </div>
    </section>
  );
}
