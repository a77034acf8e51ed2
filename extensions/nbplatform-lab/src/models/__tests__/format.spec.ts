import {
  aliasBadgeText,
  compareRows,
  defaultMetric,
  ellipsize,
  formatMetric,
  initialSelection,
  metricChartData,
  replaySummary,
  tagRecord
} from '../format';
import { auditQuery, NO_AUDIT_FILTERS } from '../modelsApi';

describe('ellipsize', () => {
  it('leaves a short text alone', () => {
    expect(ellipsize('train.ipynb')).toBe('train.ipynb');
    expect(ellipsize('abc', 3)).toBe('abc');
  });

  it('shortens a long path in the middle, keeping its file name', () => {
    const source =
      's3://mlflow-artifacts/1/0123456789abcdef0123456789abcdef/artifacts/model';
    const short = ellipsize(source, 34);
    expect(short.length).toBe(34);
    expect(short).toBe('s3://mlflow-artifacts/1/012…/model');
    expect(short.startsWith('s3://')).toBe(true);
    expect(short.endsWith('/model')).toBe(true);
  });

  it('keeps the end of a text whose last segment is too long', () => {
    const long = 'notebooks/' + 'x'.repeat(60) + '.ipynb';
    const short = ellipsize(long, 20);
    expect(short.length).toBe(20);
    expect(short).toContain('…');
    expect(short.endsWith('.ipynb')).toBe(true);
  });

  it('cuts text without a slash', () => {
    expect(ellipsize('abcdefghijklmnopqrstuvwxyz', 10)).toBe('abcd…vwxyz');
  });
});

describe('aliasBadgeText', () => {
  it('names the version an alias points at', () => {
    expect(aliasBadgeText('champion', '3')).toBe('@champion → v3');
    expect(aliasBadgeText('staging')).toBe('@staging');
    expect(aliasBadgeText('staging', null)).toBe('@staging');
  });
});

describe('formatMetric', () => {
  it('shows at most four significant digits', () => {
    expect(formatMetric(0.9)).toBe('0.9');
    expect(formatMetric(0.123456)).toBe('0.1235');
    expect(formatMetric(42)).toBe('42');
    expect(formatMetric(1e-7)).toBe('1e-7');
    expect(formatMetric(NaN)).toBe('NaN');
    expect(formatMetric(null)).toBe('—');
  });
});

describe('metricChartData', () => {
  it('places steps left to right and values bottom to top', () => {
    const data = metricChartData(
      [
        { step: 2, value: 0.5 },
        { step: 0, value: 1.0 },
        { step: 1, value: 0.0 }
      ],
      106,
      26
    );
    expect(data).not.toBeNull();
    expect(data!.min).toBe(0);
    expect(data!.max).toBe(1);
    expect(data!.firstStep).toBe(0);
    expect(data!.lastStep).toBe(2);
    expect(data!.points.map(p => [p.x, p.y])).toEqual([
      [3, 3],
      [53, 23],
      [103, 13]
    ]);
    expect(data!.path).toBe('M3 3 L53 23 L103 13');
  });

  it('centres a single point or a flat line, leaves out what is not finite', () => {
    const one = metricChartData([{ step: 5, value: 2 }], 100, 20);
    expect(one!.points).toEqual([{ x: 50, y: 10, step: 5, value: 2 }]);
    expect(one!.path).toBe('');
    const flat = metricChartData(
      [
        { step: 0, value: 1 },
        { step: 1, value: NaN },
        { step: 2, value: 1 }
      ],
      100,
      20
    );
    expect(flat!.points.map(p => p.y)).toEqual([10, 10]);
    expect(metricChartData([], 100, 20)).toBeNull();
    expect(metricChartData([{ step: 0, value: NaN }], 100, 20)).toBeNull();
  });
});

describe('defaultMetric', () => {
  it('is the metric with the most steps', () => {
    const p = { step: 0, value: 1 };
    expect(defaultMetric({ acc: [p], loss: [p, p] })).toBe('loss');
    expect(defaultMetric({ b: [p], a: [p] })).toBe('a');
    expect(defaultMetric({})).toBeNull();
  });
});

describe('compareRows', () => {
  it('lists every key of the versions and marks those that differ', () => {
    const rows = compareRows([
      { C: '1.0', solver: 'lbfgs' },
      { C: '0.5', solver: 'lbfgs', max_iter: '100' }
    ]);
    expect(rows).toEqual([
      { key: 'C', values: ['1.0', '0.5'], differs: true },
      { key: 'max_iter', values: [undefined, '100'], differs: true },
      { key: 'solver', values: ['lbfgs', 'lbfgs'], differs: false }
    ]);
    expect(compareRows([])).toEqual([]);
  });
});

describe('tagRecord and initialSelection', () => {
  it('reads tags and picks the newest two versions, oldest first', () => {
    expect(tagRecord([{ key: 'a', value: '1' }])).toEqual({ a: '1' });
    expect(tagRecord(undefined)).toEqual({});
    const v = (version: string) => ({ name: 'm', version });
    expect(initialSelection([v('1'), v('10'), v('9')])).toEqual(['9', '10']);
    expect(initialSelection([v('1')])).toEqual(['1']);
  });
});

describe('auditQuery', () => {
  it('sends the filters that are set, trimmed', () => {
    expect(auditQuery(NO_AUDIT_FILTERS)).toBe('?max_results=25');
    expect(
      auditQuery(
        {
          model: ' churn ',
          user: 'ada',
          action: 'promotion:',
          result: 'refused'
        },
        'tok',
        10
      )
    ).toBe(
      '?model=churn&user=ada&action=promotion%3A&result=refused&max_results=10&page_token=tok'
    );
  });
});

describe('replaySummary', () => {
  const metric = (key: string, recorded: number, value: number) => ({
    key,
    recorded,
    new: value,
    reproduced: recorded === value
  });

  it('says a replay is still running', () => {
    expect(
      replaySummary({
        status: 'running',
        finished: false,
        reproduced: null,
        metrics: []
      })
    ).toBe('Replaying… (run running)');
  });

  it('says how many metrics were reproduced', () => {
    expect(
      replaySummary({
        status: 'succeeded',
        finished: true,
        reproduced: true,
        metrics: [metric('accuracy', 0.9, 0.9), metric('auc', 0.8, 0.8)]
      })
    ).toBe('Reproduced: 2 metrics as recorded.');
  });

  it('names the metrics that came out different, recorded then new', () => {
    expect(
      replaySummary({
        status: 'succeeded',
        finished: true,
        reproduced: false,
        metrics: [metric('accuracy', 0.9, 0.85), metric('auc', 0.8, 0.8)]
      })
    ).toBe('Not reproduced: accuracy 0.9 → 0.85.');
  });

  it('says when the replay run itself failed', () => {
    expect(
      replaySummary({
        status: 'failed',
        finished: true,
        reproduced: false,
        metrics: [],
        message: 'ValueError: boom (failed in cell 2 of 3)'
      })
    ).toBe('The replay failed: ValueError: boom (failed in cell 2 of 3)');
  });
});
