import react from '@vitejs/plugin-react';
import { defaultClientConditions, defineConfig } from 'vite';

// The stack (npm start) serves everything behind nginx on :8000.
const stack = 'http://localhost:8000';

export default defineConfig({
  base: '/',
  plugins: [react()],
  resolve: {
    // Workspace packages export their TypeScript source under 'pr-source': no prior build needed.
    conditions: ['pr-source', ...defaultClientConditions],
    // @parking-realtime/react resolves react from its own folder: one copy for the whole page.
    dedupe: ['react', 'react-dom'],
  },
  build: { outDir: 'dist' },
  server: {
    proxy: {
      '/api': { target: stack, changeOrigin: true },
      '/ws': { target: stack, ws: true, changeOrigin: true },
    },
  },
});
