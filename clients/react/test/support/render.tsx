// A DOM for React before react-dom loads (it checks for one when first imported).
import 'global-jsdom/register';
import { act, type ReactNode, StrictMode, useEffect } from 'react';
import { createRoot } from 'react-dom/client';

const actEnvironment = globalThis as { IS_REACT_ACT_ENVIRONMENT?: boolean };

/**
 * Runs `fn` inside React's act(), so the render and its effects are done when
 * this resolves. Outside act the flag is off: updates driven by the socket are
 * then ordinary async updates, not "not wrapped in act" warnings.
 */
export async function inAct(fn: () => void): Promise<void> {
  actEnvironment.IS_REACT_ACT_ENVIRONMENT = true;
  try {
    await act(async () => fn());
  } finally {
    actEnvironment.IS_REACT_ACT_ENVIRONMENT = false;
  }
}

export interface Rendered {
  container: HTMLElement;
  rerender(element: ReactNode): Promise<void>;
  unmount(): Promise<void>;
}

export async function render(element: ReactNode, { strict = false } = {}): Promise<Rendered> {
  const container = document.createElement('div');
  document.body.append(container);
  const root = createRoot(container);
  const wrap = (el: ReactNode) => (strict ? <StrictMode>{el}</StrictMode> : el);
  await inAct(() => root.render(wrap(element)));
  return {
    container,
    rerender: (el) => inAct(() => root.render(wrap(el))),
    unmount: async () => {
      await inAct(() => root.unmount());
      container.remove();
    },
  };
}

export interface RenderedHook<P, R> {
  /** The value from the latest committed render. */
  readonly current: R;
  /** Resolves with `check`'s value once it is truthy, re-checked after every commit. */
  until<T>(check: (value: R) => T | undefined | false | null, what: string, timeoutMs?: number): Promise<T>;
  rerender(props: P): Promise<void>;
  unmount(): Promise<void>;
}

interface ProbeProps<P, R> {
  useHook: (props: P) => R;
  hookProps: P;
  onCommit: (value: R) => void;
}

/** A component that only calls the hook and reports each committed value. */
function Probe<P, R>({ useHook, hookProps, onCommit }: ProbeProps<P, R>) {
  const value = useHook(hookProps);
  useEffect(() => onCommit(value));
  return null;
}

/** Renders a component that only calls `useHook(props)`, and records what it returns. */
export async function renderHook<P, R>(useHook: (props: P) => R, props: P, options: { strict?: boolean } = {}): Promise<RenderedHook<P, R>> {
  let current: { value: R } | undefined;
  const commitListeners = new Set<() => void>();
  const onCommit = (value: R) => {
    current = { value };
    for (const listener of [...commitListeners]) listener();
  };
  const probe = (hookProps: P) => <Probe useHook={useHook} hookProps={hookProps} onCommit={onCommit} />;
  const rendered = await render(probe(props), options);
  return {
    get current() {
      if (!current) throw new Error('the hook has not rendered');
      return current.value;
    },
    until(check, what, timeoutMs = 5000) {
      const now = current && check(current.value);
      if (now) return Promise.resolve(now);
      return new Promise((resolve, reject) => {
        const listener = () => {
          const value = current && check(current.value);
          if (!value) return;
          clearTimeout(timer);
          commitListeners.delete(listener);
          resolve(value);
        };
        const timer = setTimeout(() => {
          commitListeners.delete(listener);
          reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}`));
        }, timeoutMs);
        commitListeners.add(listener);
      });
    },
    rerender: (next) => rendered.rerender(probe(next)),
    unmount: () => rendered.unmount(),
  };
}

/** Resolves once `check(container)` is truthy, re-checked on every DOM change. */
export function untilDom<T>(container: HTMLElement, check: (el: HTMLElement) => T | undefined | false | null, what: string, timeoutMs = 5000): Promise<T> {
  const now = check(container);
  if (now) return Promise.resolve(now);
  return new Promise((resolve, reject) => {
    const observer = new MutationObserver(() => {
      const value = check(container);
      if (!value) return;
      clearTimeout(timer);
      observer.disconnect();
      resolve(value);
    });
    const timer = setTimeout(() => {
      observer.disconnect();
      reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}`));
    }, timeoutMs);
    observer.observe(container, { subtree: true, childList: true, characterData: true, attributes: true });
  });
}
