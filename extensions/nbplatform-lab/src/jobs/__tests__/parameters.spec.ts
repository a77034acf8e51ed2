import type { INotebookJSON, ParameterValue } from '../jobsApi';
import { findParameters, parseLiteral, toLiteral } from '../parameters';

/** A notebook of code cells given as `[source, tags]`. */
function notebook(
  ...cells: [source: string | string[] | undefined, tags?: unknown][]
): INotebookJSON {
  return {
    cells: cells.map(([source, tags]) => ({
      cell_type: 'code',
      metadata: tags === undefined ? {} : { tags },
      ...(source === undefined ? {} : { source })
    })),
    metadata: {},
    nbformat: 4,
    nbformat_minor: 5
  };
}

describe('parseLiteral', () => {
  describe('constants', () => {
    it.each([
      ['True', true],
      ['False', false],
      ['None', null],
      ['  True  ', true],
      ['\tNone\n', null]
    ])('%j is %j', (text, value) => {
      expect(parseLiteral(text)).toBe(value);
    });

    it.each(['true', 'false', 'null', 'none', 'TRUE', 'Truth', 'Nonesuch'])(
      'refuses %j (not Python)',
      text => {
        expect(parseLiteral(text)).toBeUndefined();
      }
    );
  });

  describe('numbers', () => {
    it.each([
      ['0', 0],
      ['3', 3],
      ['-2', -2],
      ['+5', 5],
      ['3.14', 3.14],
      ['3.', 3],
      ['.5', 0.5],
      ['-.5', -0.5],
      ['1e3', 1000],
      ['2.5E-2', 0.025],
      ['1e+2', 100],
      ['1_000', 1000],
      ['1_000.25', 1000.25],
      [' 42 ', 42]
    ])('%j is %p', (text, value) => {
      const parsed = parseLiteral(text);
      expect(typeof parsed).toBe('number');
      expect(parsed).toBeCloseTo(value, 10);
    });

    it('keeps integers exact', () => {
      expect(parseLiteral('9007199254740991')).toBe(Number.MAX_SAFE_INTEGER);
    });

    it.each([
      '_1',
      '1e',
      '1.2.3',
      '--1',
      '0x10',
      '1j',
      'inf',
      'nan',
      '.',
      '-',
      '.5e3',
      '1 000'
    ])('refuses %j', text => {
      expect(parseLiteral(text)).toBeUndefined();
    });
  });

  describe('strings', () => {
    it.each([
      ['"abc"', 'abc'],
      ["'abc'", 'abc'],
      ['""', ''],
      ["''", ''],
      ['"a # b"', 'a # b'],
      ['\'say "hi"\'', 'say "hi"'],
      ['"it\'s"', "it's"],
      ["'it\\'s'", "it's"],
      ['"it\\\'s"', "it's"],
      ['"say \\"hi\\""', 'say "hi"'],
      ["'a\\\\b'", 'a\\b'],
      ['"a\\\\b"', 'a\\b'],
      ["'line\\nnext'", 'line\nnext'],
      ['"tab\\there"', 'tab\there'],
      ['"\\u00e9t\\u00e9"', 'été'],
      ['"True"', 'True'],
      ["'None'", 'None'],
      ['"été ✓"', 'été ✓'],
      ['  "padded"  ', 'padded']
    ])('%s is %j', (text, value) => {
      expect(parseLiteral(text)).toBe(value);
    });

    it.each([
      'abc',
      '"abc',
      "'abc",
      '"abc\'',
      "'a'b'",
      '"a" "b"',
      "'a' + 'b'",
      '"ends with backslash\\',
      'f"{x}"',
      'b"bytes"',
      '"\\q"'
    ])('refuses %s', text => {
      expect(parseLiteral(text)).toBeUndefined();
    });
  });

  describe('lists and dicts', () => {
    it.each<[string, ParameterValue]>([
      ['[]', []],
      ['{}', {}],
      ['[1, 2, 3]', [1, 2, 3]],
      ['[1, 2,]', [1, 2]],
      ['[1, 2 , ]', [1, 2]],
      ['[\'a\', "b"]', ['a', 'b']],
      ['[True, False, None]', [true, false, null]],
      ['["True", \'None\']', ['True', 'None']],
      ['[[1], [2, [3]]]', [[1], [2, [3]]]],
      ['{\'a\': 1, "b": [True, None]}', { a: 1, b: [true, null] }],
      ["{'a': {'b': {'c': 'd'}},}", { a: { b: { c: 'd' } } }],
      ["['it\\'s']", ["it's"]],
      ['["a,]", "b,}"]', ['a,]', 'b,}']],
      ['[\'x: "y"\']', ['x: "y"']],
      ['[-1, 2.5, 1e3]', [-1, 2.5, 1000]]
    ])('%s is %j', (text, value) => {
      expect(parseLiteral(text)).toEqual(value);
    });

    it.each([
      '[',
      '[1, 2',
      '[1,, 2]',
      '[,]',
      '{,}',
      '{1: 2}',
      '{a: 1}',
      '[1 2]',
      '(1, 2)',
      '{1, 2}',
      '[x]',
      "['a']['b']",
      '[1_000]',
      "['unterminated]"
    ])('refuses %s', text => {
      expect(parseLiteral(text)).toBeUndefined();
    });
  });

  it.each(['', '   ', 'x', 'foo(1)', 'x + 1', '1 if y else 2', 'lambda: 1'])(
    'refuses the expression %j',
    text => {
      expect(parseLiteral(text)).toBeUndefined();
    }
  );
});

describe('toLiteral', () => {
  it.each<[ParameterValue, string]>([
    [null, 'None'],
    [true, 'True'],
    [false, 'False'],
    [0, '0'],
    [-3, '-3'],
    [2.5, '2.5'],
    ['abc', '"abc"'],
    ['say "hi"', '"say \\"hi\\""'],
    ['true', '"true"'],
    [[], '[]'],
    [{}, '{}'],
    [[1, 'a', null], '[1, "a", None]'],
    [['true', 'null'], '["true", "null"]'],
    [{ a: [true, { b: false }] }, '{"a": [True, {"b": False}]}']
  ])('%j is %s', (value, literal) => {
    expect(toLiteral(value)).toBe(literal);
  });

  it.each<ParameterValue>([
    null,
    true,
    false,
    7,
    -0.125,
    'plain',
    'it\'s "quoted" \\ and\nmore',
    'None',
    [1, [2, [3, []]]],
    { x: 'true', y: ['False', null], 'key with "quotes"': { z: 1.5 } }
  ])('round-trips %j through parseLiteral', value => {
    expect(parseLiteral(toLiteral(value))).toEqual(value);
  });
});

describe('findParameters', () => {
  it('reads the name = literal lines of the parameters cell', () => {
    const nb = notebook(
      ['import os', undefined],
      ['greeting = "hi"\ntimes = 2  # how often\nrate = 0.5', ['parameters']],
      ['print(greeting)', undefined]
    );
    expect(findParameters(nb)).toEqual([
      { name: 'greeting', literal: '"hi"' },
      { name: 'times', literal: '2' },
      { name: 'rate', literal: '0.5' }
    ]);
  });

  it('joins a source stored as a list of lines', () => {
    const nb = notebook([['a = 1\n', 'b = "x"\n', 'c = None'], ['parameters']]);
    expect(findParameters(nb)).toEqual([
      { name: 'a', literal: '1' },
      { name: 'b', literal: '"x"' },
      { name: 'c', literal: 'None' }
    ]);
  });

  it('uses only the first cell tagged parameters', () => {
    const nb = notebook(
      ['first = 1', ['parameters']],
      ['second = 2', ['parameters']]
    );
    expect(findParameters(nb)).toEqual([{ name: 'first', literal: '1' }]);
  });

  it('finds the tag among others', () => {
    const nb = notebook(['x = 1', ['hide-input', 'parameters', 'other']]);
    expect(findParameters(nb)).toEqual([{ name: 'x', literal: '1' }]);
  });

  it.each<[string, unknown]>([
    ['no tags', undefined],
    ['other tags', ['injected-parameters', 'Parameters']],
    ['tags that are not a list', 'parameters'],
    ['tags that are an object', { parameters: true }]
  ])('finds nothing with %s', (_, tags) => {
    expect(findParameters(notebook(['x = 1', tags]))).toEqual([]);
  });

  it('finds nothing in a notebook without cells', () => {
    expect(findParameters(notebook())).toEqual([]);
  });

  it('finds nothing in a tagged cell without source', () => {
    const nb = notebook([undefined, ['parameters']]);
    expect(findParameters(nb)).toEqual([]);
  });

  it('finds nothing in a cell without metadata', () => {
    const nb: INotebookJSON = {
      cells: [{ source: 'x = 1' } as INotebookJSON['cells'][number]],
      metadata: {},
      nbformat: 4
    };
    expect(findParameters(nb)).toEqual([]);
  });

  it('understands annotations, spacing and comments', () => {
    const nb = notebook([
      [
        'epochs: int = 3',
        'name: "str"="model"  # the name',
        'ratio=0.25#no space',
        'tag = "a#b"  # a # in quotes stays',
        "quote = 'it\\'s' # escaped",
        'flags = [True, None]  # a list',
        'windows = 7\r'
      ].join('\n'),
      ['parameters']
    ]);
    expect(findParameters(nb)).toEqual([
      { name: 'epochs', literal: '3' },
      { name: 'name', literal: '"model"' },
      { name: 'ratio', literal: '0.25' },
      { name: 'tag', literal: '"a#b"' },
      { name: 'quote', literal: "'it\\'s'" },
      { name: 'flags', literal: '[True, None]' },
      { name: 'windows', literal: '7' }
    ]);
  });

  it('leaves out what is not a simple assignment of a literal', () => {
    const nb = notebook([
      [
        '# a comment = 1',
        '  indented = 1',
        'a, b = 1, 2',
        'x == 1',
        'call = foo(1)',
        'expr = 1 + 2',
        'multi = [1,',
        '         2]',
        'empty = ',
        'only_comment = # nothing',
        '1x = 2',
        'kept = 5',
        'import math'
      ].join('\n'),
      ['parameters']
    ]);
    expect(findParameters(nb)).toEqual([{ name: 'kept', literal: '5' }]);
  });

  it('gives a name assigned twice its last value, in its first place', () => {
    const nb = notebook(['lr = 0.1\nepochs = 2\nlr = 0.01\n', ['parameters']]);
    expect(findParameters(nb)).toEqual([
      { name: 'lr', literal: '0.01' },
      { name: 'epochs', literal: '2' }
    ]);
  });

  it('gives literals that parseLiteral reads back', () => {
    const nb = notebook([
      "a = 'x'\nb = {'k': [1, 2,]}\nc = -1e-3\nd = False",
      ['parameters']
    ]);
    const values = findParameters(nb).map(p => [
      p.name,
      parseLiteral(p.literal)
    ]);
    expect(values).toEqual([
      ['a', 'x'],
      ['b', { k: [1, 2] }],
      ['c', -0.001],
      ['d', false]
    ]);
  });
});
