/**
 * The code the Features panel copies: a training frame and online features
 * of the selected features, ready to run in a notebook (pure functions).
 */
import { toLiteral } from '../jobs/parameters';
import type { ParameterValue } from '../jobs/jobsApi';
import { isDummyEntity } from './format';
import type { IFeatureEntity, IViewStats } from './types';

/**
 * A join key of the entity rows, with example values to start from.
 */
export interface IJoinKey {
  name: string;
  /** The entity's Feast value type (`INT64`, `STRING`…). */
  valueType: string;
  /** Two example values (from the source's statistics where known). */
  examples: ParameterValue[];
}

/**
 * What a snippet is made of.
 */
export interface ISnippetInput {
  /** Feature references, `view:feature`. */
  features: string[];
  joinKeys: IJoinKey[];
  /** The event time of the example entity rows (ISO text). */
  eventTime: string;
}

/**
 * The reference of a feature of a view, as Feast and `nbp.features` take it.
 */
export function featureRef(view: string, feature: string): string {
  return `${view}:${feature}`;
}

const INTEGER_TYPES = new Set(['INT32', 'INT64', 'UNIX_TIMESTAMP']);
const FLOAT_TYPES = new Set(['FLOAT', 'DOUBLE', 'FLOAT32', 'FLOAT64']);

/**
 * Two example values of a join key: its smallest and largest value, or its
 * most frequent ones, as the source's statistics have them; otherwise
 * placeholders of its type.
 */
export function exampleValues(
  key: string,
  valueType: string,
  stats?: IViewStats | null
): ParameterValue[] {
  const type = valueType.toUpperCase();
  const column = stats?.columns.find(c => c.name === key);
  if (INTEGER_TYPES.has(type) || FLOAT_TYPES.has(type)) {
    const integer = INTEGER_TYPES.has(type);
    const low = column?.min;
    const high = column?.max;
    if (typeof low === 'number' && typeof high === 'number') {
      const values = integer
        ? [Math.round(low), Math.round(high)]
        : [low, high];
      return values[0] === values[1] ? [values[0]] : values;
    }
    const top = (column?.top ?? []).map(t => Number(t.value));
    if (top.length > 0 && top.every(Number.isFinite)) {
      return top.slice(0, 2);
    }
    return integer ? [1001, 1002] : [0.5, 1.5];
  }
  if (type === 'BOOL') {
    return [true, false];
  }
  const top = (column?.top ?? []).map(t => t.value);
  if (top.length > 0) {
    return top.slice(0, 2);
  }
  return [`${key}-1`, `${key}-2`];
}

/**
 * The join keys of the given entities, each once, in their order, with
 * example values (Feast's stand-in entity of views without one has none).
 */
export function joinKeysOf(
  entities: readonly IFeatureEntity[],
  stats?: IViewStats | null
): IJoinKey[] {
  const keys: IJoinKey[] = [];
  const seen = new Set<string>();
  for (const entity of entities) {
    if (isDummyEntity(entity)) {
      continue;
    }
    for (const name of entity.join_keys) {
      if (!seen.has(name)) {
        seen.add(name);
        keys.push({
          name,
          valueType: entity.value_type,
          examples: exampleValues(name, entity.value_type, stats)
        });
      }
    }
  }
  return keys;
}

/** How many example entity rows the snippets have. */
function rowCount(keys: readonly IJoinKey[]): number {
  return Math.max(1, ...keys.map(k => k.examples.length));
}

/** The i-th example value of a key (its last one when it has fewer). */
function example(key: IJoinKey, i: number): ParameterValue {
  return key.examples[Math.min(i, key.examples.length - 1)] ?? null;
}

function featureList(features: readonly string[], indent: string): string {
  const lines = features.map(f => `${indent}    ${JSON.stringify(f)},`);
  return [`${indent}features=[`, ...lines, `${indent}],`].join('\n');
}

/**
 * Code that builds an entity frame and gets its point-in-time correct
 * training frame: `nbp.features.get_training_frame(entity_df, features=[...])`.
 */
export function trainingFrameSnippet(input: ISnippetInput): string {
  const rows = rowCount(input.joinKeys);
  const columns = input.joinKeys.map(key => {
    const values = Array.from({ length: rows }, (_, i) => example(key, i));
    return `        ${JSON.stringify(key.name)}: ${toLiteral(values)},`;
  });
  const times = Array.from({ length: rows }, () => input.eventTime);
  columns.push(
    `        "event_timestamp": pd.to_datetime(${toLiteral(times)}, utc=True),`
  );
  return [
    'import pandas as pd',
    'import nbplatform as nbp',
    '',
    '# One row per entity and time; each gets the feature values known at that time.',
    'entity_df = pd.DataFrame(',
    '    {',
    ...columns,
    '    }',
    ')',
    'training_df = nbp.features.get_training_frame(',
    '    entity_df,',
    featureList(input.features, '    '),
    ')',
    'training_df.head()'
  ].join('\n');
}

/**
 * Code that reads the latest values of the features from the online store:
 * `nbp.features.get_online_features(entity_rows=[{...}], features=[...])`.
 */
export function onlineFeaturesSnippet(input: ISnippetInput): string {
  const rows = Array.from({ length: rowCount(input.joinKeys) }, (_, i) => {
    const row: Record<string, ParameterValue> = {};
    for (const key of input.joinKeys) {
      row[key.name] = example(key, i);
    }
    return `        ${toLiteral(row)},`;
  });
  return [
    'import nbplatform as nbp',
    '',
    'online = nbp.features.get_online_features(',
    '    entity_rows=[',
    ...rows,
    '    ],',
    featureList(input.features, '    '),
    ')',
    'online'
  ].join('\n');
}

/**
 * The event time the snippets' entity rows ask for: the latest event of the
 * source where known, else `now`.
 */
export function snippetEventTime(
  stats: IViewStats | null | undefined,
  now: Date
): string {
  return stats?.event_time.max ?? now.toISOString();
}
