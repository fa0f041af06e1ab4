// Messages about the desired state (conflicts, settings the model could not
// apply) hold until someone fixes the objects, and every sync finds them
// again: each is logged when it first appears, and again only after it went
// away and came back.
export class Reported {
  private last = new Set<string>();

  /** The messages not in the previous call's. */
  fresh(messages: string[]): string[] {
    const out = messages.filter((m) => !this.last.has(m));
    this.last = new Set(messages);
    return out;
  }
}
