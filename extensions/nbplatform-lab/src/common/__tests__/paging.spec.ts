import {
  appendPage,
  firstPageDue,
  MAX_BACKOFF_MS,
  mergeFirstPage,
  nextDelay,
  replaceItem,
  RETRY_MS
} from '../paging';

interface IItem {
  id: string;
  v?: number;
}

const keyOf = (item: IItem): string => item.id;
const items = (...ids: string[]): IItem[] => ids.map(id => ({ id }));
const ids = (list: IItem[]): string[] => list.map(keyOf);

describe('mergeFirstPage', () => {
  it('takes the first page as it is before anything was loaded', () => {
    expect(ids(mergeFirstPage(null, 0, items('a', 'b'), keyOf))).toEqual([
      'a',
      'b'
    ]);
  });

  it('replaces a single loaded page (deleted items go, new ones come)', () => {
    const merged = mergeFirstPage(
      items('a', 'b', 'c'),
      1,
      items('new', 'a', 'c'),
      keyOf
    );
    expect(ids(merged)).toEqual(['new', 'a', 'c']);
  });

  it('keeps the later pages after a fresh first page, without repeats', () => {
    const loaded = items('d', 'c', 'b', 'a'); // two pages of two, newest first
    const merged = mergeFirstPage(loaded, 2, items('e', 'd'), keyOf);
    // c was pushed off the first page by e: it stays, before the second page.
    expect(ids(merged)).toEqual(['e', 'd', 'c', 'b', 'a']);
  });

  it('takes the fresh version of an item on the first page', () => {
    const merged = mergeFirstPage(
      [
        { id: 'a', v: 1 },
        { id: 'b', v: 1 }
      ],
      2,
      [{ id: 'a', v: 2 }],
      keyOf
    );
    expect(merged).toEqual([
      { id: 'a', v: 2 },
      { id: 'b', v: 1 }
    ]);
  });

  it('does not change what it is given', () => {
    const first = items('a');
    const merged = mergeFirstPage(null, 0, first, keyOf);
    merged.push({ id: 'x' });
    expect(ids(first)).toEqual(['a']);
  });
});

describe('appendPage', () => {
  it('appends the next page', () => {
    expect(ids(appendPage(items('a', 'b'), items('c', 'd'), keyOf))).toEqual([
      'a',
      'b',
      'c',
      'd'
    ]);
  });

  it('leaves out items already shown (an offset moved by an insert)', () => {
    expect(ids(appendPage(items('a', 'b'), items('b', 'c'), keyOf))).toEqual([
      'a',
      'b',
      'c'
    ]);
  });

  it('keeps the loaded items when the page is empty', () => {
    expect(ids(appendPage(items('a'), [], keyOf))).toEqual(['a']);
  });
});

describe('replaceItem', () => {
  const list: IItem[] = [
    { id: 'a', v: 1 },
    { id: 'b', v: 1 },
    { id: 'c', v: 1 }
  ];

  it('puts the fresh item in its place', () => {
    expect(replaceItem(list, 'b', { id: 'b', v: 2 }, keyOf)).toEqual([
      { id: 'a', v: 1 },
      { id: 'b', v: 2 },
      { id: 'c', v: 1 }
    ]);
  });

  it('removes an item that is gone', () => {
    expect(ids(replaceItem(list, 'b', null, keyOf))).toEqual(['a', 'c']);
  });

  it('changes nothing for an unknown key', () => {
    expect(replaceItem(list, 'x', { id: 'x' }, keyOf)).toEqual(list);
    expect(replaceItem(list, 'x', null, keyOf)).toEqual(list);
  });
});

describe('nextDelay', () => {
  it('polls the first page at pollMs', () => {
    expect(nextDelay({ pollMs: 15_000, liveMs: 3_000 }, false, 0)).toBe(15_000);
  });

  it('polls faster while an item is live', () => {
    expect(nextDelay({ pollMs: 15_000, liveMs: 3_000 }, true, 0)).toBe(3_000);
    expect(nextDelay({ pollMs: null, liveMs: 3_000 }, true, 0)).toBe(3_000);
  });

  it('never polls slower because items are live', () => {
    expect(nextDelay({ pollMs: 1_000, liveMs: 3_000 }, true, 0)).toBe(1_000);
  });

  it('does not poll what is neither polled nor live', () => {
    expect(nextDelay({ pollMs: null, liveMs: 3_000 }, false, 0)).toBeNull();
    expect(nextDelay({}, false, 0)).toBeNull();
    expect(nextDelay({ pollMs: null }, true, 0)).toBeNull();
  });

  it('backs off, doubling with each failure in a row, up to a limit', () => {
    const policy = { pollMs: 3_000 };
    expect(nextDelay(policy, false, 1)).toBe(6_000);
    expect(nextDelay(policy, false, 2)).toBe(12_000);
    expect(nextDelay(policy, false, 3)).toBe(24_000);
    expect(nextDelay(policy, false, 20)).toBe(MAX_BACKOFF_MS);
  });

  it('retries a resource that is not polled after an error', () => {
    expect(nextDelay({ pollMs: null }, false, 1)).toBe(RETRY_MS * 2);
    expect(nextDelay({ pollMs: null }, false, 30)).toBe(MAX_BACKOFF_MS);
  });
});

describe('firstPageDue', () => {
  const policy = { pollMs: 15_000, liveMs: 3_000 };

  it('fetches the first page when nothing is live', () => {
    expect(firstPageDue(policy, 0, 0, true)).toBe(true);
  });

  it('fetches only the live items between two polls of the first page', () => {
    expect(firstPageDue(policy, 3_000, 2, true)).toBe(false);
    expect(firstPageDue(policy, 12_000, 2, true)).toBe(false);
  });

  it('fetches the first page when its poll is due, even with live items', () => {
    expect(firstPageDue(policy, 15_000, 2, true)).toBe(true);
    // a live tick that comes just before the poll is due counts as it
    expect(firstPageDue(policy, 13_600, 2, true)).toBe(true);
  });

  it('fetches the first page when items cannot be fetched alone', () => {
    expect(firstPageDue(policy, 0, 2, false)).toBe(true);
  });

  it('never fetches the first page for live items of an unpolled list that can fetch them', () => {
    expect(firstPageDue({ pollMs: null, liveMs: 3_000 }, 1e9, 1, true)).toBe(
      false
    );
  });
});
