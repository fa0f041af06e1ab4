// An invalid object in a source, reported as
// "<Kind> <namespace>/<name>: <field path>: <problem>" ("<Kind> <name>: ..."
// for cluster-scoped kinds) and skipped on its own.

/** Shown instead of the name when the object has none. */
export const UNNAMED = '<unnamed>';

/** "Kind namespace/name", or "Kind name" for a cluster-scoped object (no
 *  namespace): what tells two objects of a source apart. */
export function objectIdentity(kind: string, namespace: string, name: string): string {
  return namespace === '' ? `${kind} ${name}` : `${kind} ${namespace}/${name}`;
}

export class ObjectError extends Error {
  constructor(
    readonly kind: string,
    readonly namespace: string,
    readonly objectName: string,
    readonly field: string,
    readonly problem: string,
  ) {
    super(`${objectIdentity(kind, namespace, objectName)}: ${field}: ${problem}`);
    this.name = 'ObjectError';
  }

  /** "Kind namespace/name", or undefined when the object has no name and so
   *  cannot be told apart from others of its kind. */
  get identity(): string | undefined {
    return this.objectName === UNNAMED ? undefined : objectIdentity(this.kind, this.namespace, this.objectName);
  }
}
