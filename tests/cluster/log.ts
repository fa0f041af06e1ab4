// Progress lines of make cluster / make cluster-down, one tag for grep.
export function say(msg: string): void {
  console.log(`cluster: ${msg}`);
}
