import {
  type Framework,
  frameworks,
  inMatrix,
  notApplicable,
  type Variant,
  variants,
  type Workload,
  type WorkloadSpec,
  workloads,
} from '../matrix'
import { bareWorkload } from './cell'

export interface PlannedCell {
  framework: Framework
  variant: Variant
  workload: WorkloadSpec
  /** Why the cell is not measured (not applicable, or waiting for a package); else runnable. */
  skip?: string
}

export interface Selection {
  frameworks: readonly Framework[]
  variants: readonly Variant[]
  workloads: readonly Workload[]
}

export const defaultSelection: Selection = {
  frameworks,
  variants,
  workloads: workloads.map((w) => w.name),
}

/** Every cell of the selection in run order: per framework the bare server, then the rest. */
export function plan(selection: Selection): PlannedCell[] {
  const cells: PlannedCell[] = []
  for (const framework of selection.frameworks) {
    if (selection.variants.includes('bare'))
      cells.push({ framework, variant: 'bare', workload: bareWorkload })
    for (const workload of workloads) {
      if (!selection.workloads.includes(workload.name)) continue
      for (const variant of selection.variants) {
        if (variant === 'bare' || !inMatrix(framework, variant, workload.name)) continue
        const cell: PlannedCell = { framework, variant, workload }
        const na = notApplicable(framework, variant, workload.name)
        if (na) cell.skip = `n/a: ${na}`
        cells.push(cell)
      }
    }
  }
  return cells
}
