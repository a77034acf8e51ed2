import { provenanceOf } from '../modelsApi';

describe('provenanceOf', () => {
  it('reads who made a version, from which commit and job run', () => {
    const tags = [
      { key: 'nbp.user', value: 'alice' },
      { key: 'mlflow.source.git.commit', value: '0123456789abcdef' },
      { key: 'nbp.git_dirty', value: 'true' },
      { key: 'nbp.job_id', value: 'j1' },
      { key: 'nbp.job_run_id', value: 'r1' },
      { key: 'nbp.registered_by', value: 'bob' }
    ];
    expect(provenanceOf(tags)).toEqual({
      author: 'alice',
      commit: { short: '0123456', full: '0123456789abcdef', dirty: true },
      jobRun: { job: 'j1', run: 'r1' },
      registeredBy: 'bob'
    });
  });

  it('says nothing it does not know', () => {
    expect(provenanceOf(undefined)).toEqual({
      author: undefined,
      commit: undefined,
      jobRun: undefined,
      registeredBy: undefined
    });
    const clean = provenanceOf([
      { key: 'mlflow.source.git.commit', value: 'abcdef0123' },
      { key: 'nbp.job_id', value: 'j1' }
    ]);
    expect(clean.commit?.dirty).toBe(false);
    expect(clean.jobRun).toBeUndefined();
  });
});
