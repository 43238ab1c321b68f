import type { AttributeValue } from '@aws-sdk/client-dynamodb'

/**
 * DynamoDB refuses an expression string over 4 KB (4096 bytes; placeholders are ASCII). A save
 * whose update expression would be longer is written another way (see rewrite.ts).
 */
const EXPRESSION_LIMIT = 4000

/**
 * Builds one request's expressions. Every attribute name goes through ExpressionAttributeNames
 * and every value through ExpressionAttributeValues: no name or value a user picks (dots,
 * reserved words, `#`, `:`, `$`, `__proto__`) ever becomes expression syntax.
 */
export class Expressions {
  readonly names: Record<string, string> = {}
  readonly values: Record<string, AttributeValue> = {}
  private readonly nameIds = new Map<string, string>()
  private valueCount = 0
  private readonly sets: string[] = []
  private readonly removes: string[] = []
  private readonly adds: string[] = []
  private readonly conditions: string[] = []
  /** Length of the update expression so far, to stay under DynamoDB's 4 KB limit. */
  private length = 0

  /** `#n<k>` for one attribute name, reused when the name repeats. */
  name(attribute: string): string {
    let placeholder = this.nameIds.get(attribute)
    if (placeholder === undefined) {
      placeholder = `#n${this.nameIds.size.toString(36)}`
      this.nameIds.set(attribute, placeholder)
      this.names[placeholder] = attribute
    }
    return placeholder
  }

  /** `:v<k>` for one value. */
  value(value: AttributeValue): string {
    const placeholder = `:v${(this.valueCount++).toString(36)}`
    this.values[placeholder] = value
    return placeholder
  }

  /** A document path (`attrs.<key>`) with each segment a placeholder. */
  path(segments: readonly string[]): string {
    return segments.map((s) => this.name(s)).join('.')
  }

  set(segments: readonly string[], value: AttributeValue): void {
    const clause = `${this.path(segments)} = ${this.value(value)}`
    this.sets.push(clause)
    this.length += clause.length + 2
  }

  /** `path = <expression>`, for an expression built from this object's placeholders. */
  assign(segments: readonly string[], expression: string): void {
    const clause = `${this.path(segments)} = ${expression}`
    this.sets.push(clause)
    this.length += clause.length + 2
  }

  remove(segments: readonly string[]): void {
    const clause = this.path(segments)
    this.removes.push(clause)
    this.length += clause.length + 2
  }

  /** `ADD path :v`: adds to a set (created when absent). */
  add(segments: readonly string[], value: AttributeValue): void {
    const clause = `${this.path(segments)} ${this.value(value)}`
    this.adds.push(clause)
    this.length += clause.length + 2
  }

  /** ANDed with the others. */
  condition(expression: string): void {
    this.conditions.push(expression)
  }

  /** The update expression is within DynamoDB's 4 KB limit. */
  get fits(): boolean {
    return this.length + 'SET REMOVE ADD '.length <= EXPRESSION_LIMIT
  }

  get isEmptyUpdate(): boolean {
    return this.sets.length === 0 && this.removes.length === 0 && this.adds.length === 0
  }

  updateExpression(): string {
    const parts: string[] = []
    if (this.sets.length > 0) parts.push(`SET ${this.sets.join(', ')}`)
    if (this.removes.length > 0) parts.push(`REMOVE ${this.removes.join(', ')}`)
    if (this.adds.length > 0) parts.push(`ADD ${this.adds.join(', ')}`)
    return parts.join(' ')
  }

  conditionExpression(): string | undefined {
    return this.conditions.length > 0 ? this.conditions.map((c) => `(${c})`).join(' AND ') : undefined
  }

  /** The `ExpressionAttribute*` fields of a request (ValuesOmitted when there are none). */
  attributes(): {
    ExpressionAttributeNames?: Record<string, string>
    ExpressionAttributeValues?: Record<string, AttributeValue>
  } {
    return {
      ...(this.nameIds.size > 0 ? { ExpressionAttributeNames: this.names } : {}),
      ...(this.valueCount > 0 ? { ExpressionAttributeValues: this.values } : {}),
    }
  }
}
