import {
  exampleValues,
  featureRef,
  IJoinKey,
  ISnippetInput,
  joinKeysOf,
  onlineFeaturesSnippet,
  snippetEventTime,
  trainingFrameSnippet
} from '../snippets';
import { detail } from './fixtures';

const driver: IJoinKey = {
  name: 'driver_id',
  valueType: 'INT64',
  examples: [1001, 1004]
};
const refs = ['driver_stats:conv_rate', 'driver_stats:city'];
const at = '2026-12-01T23:00:00+00:00';

/** The input of a snippet of `features` for entity rows of `joinKeys`, at `at`. */
function input(joinKeys: IJoinKey[], features: string[] = refs): ISnippetInput {
  return { features, joinKeys, eventTime: at };
}

describe('featureRef', () => {
  it('is view:feature', () => {
    expect(featureRef('driver_stats', 'conv_rate')).toBe(
      'driver_stats:conv_rate'
    );
  });
});

describe('trainingFrameSnippet', () => {
  it('builds an entity frame and asks for the selected features', () => {
    expect(trainingFrameSnippet(input([driver]))).toBe(`import pandas as pd
import nbplatform as nbp

# One row per entity and time; each gets the feature values known at that time.
entity_df = pd.DataFrame(
    {
        "driver_id": [1001, 1004],
        "event_timestamp": pd.to_datetime(["2026-12-01T23:00:00+00:00", "2026-12-01T23:00:00+00:00"], utc=True),
    }
)
training_df = nbp.features.get_training_frame(
    entity_df,
    features=[
        "driver_stats:conv_rate",
        "driver_stats:city",
    ],
)
training_df.head()`);
  });

  it('has only the event time without join keys', () => {
    const code = trainingFrameSnippet(input([], ['totals:n']));
    expect(code).toContain(
      `"event_timestamp": pd.to_datetime(["${at}"], utc=True),`
    );
    expect(code).not.toContain('_id');
  });

  it('quotes names and values as Python string literals', () => {
    const code = trainingFrameSnippet(
      input(
        [
          {
            name: 'user "name"',
            valueType: 'STRING',
            examples: ["o'neil", 'b']
          }
        ],
        ['we"ird:x\\y']
      )
    );
    expect(code).toContain('"user \\"name\\"": ["o\'neil", "b"],');
    expect(code).toContain('"we\\"ird:x\\\\y",');
  });

  it('repeats the last example of a key with fewer examples', () => {
    const code = trainingFrameSnippet(
      input([driver, { name: 'rider', valueType: 'STRING', examples: ['r1'] }])
    );
    expect(code).toContain('"rider": ["r1", "r1"],');
  });
});

describe('onlineFeaturesSnippet', () => {
  it('asks for the latest values of entity rows', () => {
    expect(onlineFeaturesSnippet(input([driver])))
      .toBe(`import nbplatform as nbp

online = nbp.features.get_online_features(
    entity_rows=[
        {"driver_id": 1001},
        {"driver_id": 1004},
    ],
    features=[
        "driver_stats:conv_rate",
        "driver_stats:city",
    ],
)
online`);
  });

  it('puts every join key in each row', () => {
    const code = onlineFeaturesSnippet(
      input([
        driver,
        { name: 'ok', valueType: 'BOOL', examples: [true, false] }
      ])
    );
    expect(code).toContain('{"driver_id": 1001, "ok": True},');
    expect(code).toContain('{"driver_id": 1004, "ok": False},');
  });
});

describe('exampleValues', () => {
  const stats = detail().stats;

  it('takes the smallest and largest value of a numeric key', () => {
    expect(exampleValues('driver_id', 'INT64', stats)).toEqual([1001, 1004]);
  });

  it('takes the most frequent values of a text key', () => {
    expect(exampleValues('city', 'STRING', stats)).toEqual(['Lisbon', 'Porto']);
  });

  it('makes up values of the type without statistics', () => {
    expect(exampleValues('driver_id', 'INT64')).toEqual([1001, 1002]);
    expect(exampleValues('score', 'DOUBLE')).toEqual([0.5, 1.5]);
    expect(exampleValues('flag', 'BOOL')).toEqual([true, false]);
    expect(exampleValues('user', 'STRING')).toEqual(['user-1', 'user-2']);
  });

  it('gives one value when all are equal', () => {
    const one = detail().stats!;
    one.columns[0].max = 1001;
    expect(exampleValues('driver_id', 'int64', one)).toEqual([1001]);
  });
});

describe('joinKeysOf', () => {
  it('lists each join key once, leaving out Feast’s stand-in entity', () => {
    const keys = joinKeysOf(
      [
        { name: 'driver', join_keys: ['driver_id'], value_type: 'INT64' },
        { name: 'again', join_keys: ['driver_id'], value_type: 'INT64' },
        { name: '__dummy', join_keys: ['__dummy_id'], value_type: 'STRING' },
        { name: 'city', join_keys: ['city'], value_type: 'STRING' }
      ],
      detail().stats
    );
    expect(keys).toEqual([
      { name: 'driver_id', valueType: 'INT64', examples: [1001, 1004] },
      { name: 'city', valueType: 'STRING', examples: ['Lisbon', 'Porto'] }
    ]);
  });
});

describe('snippetEventTime', () => {
  it('is the latest event of the source, else now', () => {
    const now = new Date('2026-12-02T05:00:00Z');
    expect(snippetEventTime(detail().stats, now)).toBe(
      '2026-12-01T23:00:00+00:00'
    );
    expect(snippetEventTime(null, now)).toBe('2026-12-02T05:00:00.000Z');
  });
});
