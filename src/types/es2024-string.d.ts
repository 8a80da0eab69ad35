// String.prototype.isWellFormed is ES2024 and in Node 20's V8; the lib stays ES2023 so that other
// ES2024 declarations (Promise.withResolvers, which Node 20 lacks) are not offered.
interface String {
  /** Whether the string has no lone surrogates. */
  isWellFormed(): boolean;
}
