// @ts-check
import { defineConfig } from 'astro/config';
import node from '@astrojs/node';

// Pages render on the server: the login and the account page read the session cookie.
export default defineConfig({
  output: 'server',
  adapter: node({ mode: 'standalone' }),
  // The hosts the site answers on. Astro trusts the Host header only for these, and
  // compares a form post's Origin with it (add the production domain here).
  security: {
    allowedDomains: [{ hostname: 'localhost' }, { hostname: '127.0.0.1' }],
  },
});
