import { defineConfig } from 'vite';
import react from '@vitejs/plugin-react';

// Served by apps/api at `/` (same origin as the REST API); `npm run dev` proxies the API.
export default defineConfig({
  plugins: [react()],
  base: '/',
  build: { outDir: 'dist', emptyOutDir: true, sourcemap: false },
  server: {
    proxy: { '/client': process.env.GATEHOUSE_API_URL ?? 'http://127.0.0.1:8080' },
  },
});
