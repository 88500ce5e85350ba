/**
 * Thrown where an operation's lease turns out to be lost: whatever this attempt would still write is
 * another worker's to write, so its transaction rolls back and the attempt ends as `lost`.
 */
export class LeaseLost extends Error {
  constructor() {
    super('lease lost');
  }
}
