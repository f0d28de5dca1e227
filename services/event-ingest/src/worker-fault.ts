/** Fault injection (WORKER_FAULT_DELAY_MS): a pause before or after each publish, to kill the worker mid-job in tests. */
export interface WorkerFault {
  delayMs: number;
  phase: 'before' | 'after';
}

/** Waits out the fault's delay if it is set for this phase. */
export async function pauseFor(fault: WorkerFault | undefined, phase: WorkerFault['phase']): Promise<void> {
  if (fault?.phase === phase) await new Promise((resolve) => setTimeout(resolve, fault.delayMs));
}
