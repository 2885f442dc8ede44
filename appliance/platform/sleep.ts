// The one pause helper: waits that poll a daemon or a namespace use it
// instead of each file defining its own.
export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
