// A node:test reporter for `npm test` (scripts/test.js), beside the spec reporter: one JSON line per finished
// test or suite, so the summary counts what the spec reporter does not (on Node 20 it reports a skipped
// `describe` as passed, and never says why), and one line per service a CI run found missing.
//   {"kind":"result","file","name","suite":bool,"status":"pass"|"fail"|"skip"|"todo","reason"?}
//   {"kind":"missing-service","file","message"}
const MISSING = /MissingServiceError: ([^\n]*)/;

export default async function* report(source) {
  for await (const event of source) {
    const { type, data } = event;
    if (type === 'test:pass' || type === 'test:fail') {
      const suite = data.details?.type === 'suite';
      const error = data.details?.error;
      let status = type === 'test:pass' ? 'pass' : 'fail';
      if (data.skip !== undefined && data.skip !== false) status = 'skip';
      else if (data.todo !== undefined && data.todo !== false) status = 'todo';
      // A suite fails on its own only through a hook; "N subtests failed" is already counted in its tests.
      if (suite && status === 'fail' && error?.failureType === 'subtestsFailed') continue;
      if (suite && status === 'pass') continue;
      const reason = status === 'skip' || status === 'todo' ? String(data.skip ?? data.todo ?? '') : error?.failureType;
      yield JSON.stringify({ kind: 'result', file: data.file ?? data.name, name: data.name, suite, status, ...(reason ? { reason } : {}) }) + '\n';
    } else if (type === 'test:stderr' || type === 'test:stdout') {
      const m = MISSING.exec(data.message ?? '');
      if (m) yield JSON.stringify({ kind: 'missing-service', file: data.file, message: m[1] }) + '\n';
    }
  }
}
