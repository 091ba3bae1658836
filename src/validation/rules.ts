/** The refusal vocabulary moved down a floor, beside the tx model, so the pool can use it without importing validation/. */
export * from '../tx/refusals.ts'
