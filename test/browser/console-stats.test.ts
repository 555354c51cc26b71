import { expect, waitUntil } from '@open-wc/testing';
import type { DailyFigures } from '../../src/console/api.ts';
import { fillDays } from '../../src/console/views/stats.ts';
import { $, $$, find, frames, openAgent, signedIn, text } from './console-helpers.ts';
import { FakeOwnerApi } from './fake-owner-api.ts';

const isoDay = (daysAgo: number) => new Date(Date.now() - daysAgo * 86400_000).toISOString().slice(0, 10);
const day = (daysAgo: number, n: number): DailyFigures => ({
  day: isoDay(daysAgo),
  conversations: n,
  user_messages: n * 3,
  assistant_messages: n * 3,
  tokens_used: n * 1000,
  avg_response_time_ms: 1000 + n * 100,
  positive_feedback: n % 3,
  negative_feedback: n % 2,
});

describe('<mistral-agent-console> statistics', () => {
  let api: FakeOwnerApi;
  beforeEach(() => {
    sessionStorage.clear();
    api = new FakeOwnerApi();
  });
  afterEach(() => api.restore());

  function seed() {
    const a = api.addAgent({ name: 'Support' });
    api.addConversation(a.id, ['q', 'a', 'q2', 'a2'], new Date(), {}, [{}, { feedback: 'up' }, {}, { feedback: { rating: 'down' } }]);
    // activity on 4 of the last 30 days; the API may leave out the empty days
    api.daily.set(a.id, [day(20, 2), day(10, 5), day(2, 1), day(0, 4)]);
    return a;
  }

  it('shows the agent\'s figures and daily charts drawn with uPlot, each with a written summary', async () => {
    const a = seed();
    const el = await signedIn();
    await openAgent(el, a.id, 'statistics');
    await find(el, '[part=figures]');
    const figures = Object.fromEntries($$(el, '.figure').map((f) => [f.querySelector('dt')!.textContent, f.querySelector('dd')!.textContent]));
    expect(figures).to.include({ Conversations: '1', Messages: '4', 'Visitor messages': '2', 'Agent replies': '2', Tokens: '304', Helpful: '1', Unhelpful: '1' });
    expect(figures['Average response time']).to.equal('1.4 s');
    expect(api.callsTo('GET', /\/daily$/)[0]!.url.searchParams.get('days')).to.equal('30');
    await waitUntil(() => $$(el, '.chart canvas').length === 5, 'five charts drawn', { timeout: 8000 });
    expect($$(el, '.chart .uplot')).to.have.length(5);
    // uPlot's own stylesheet is inside the shadow root
    expect(el.shadowRoot!.adoptedStyleSheets.some((s) => [...s.cssRules].some((r) => r.cssText.startsWith('.uplot')))).to.equal(true);
    expect($$(el, '.chart').every((c) => c.getAttribute('aria-hidden') === 'true')).to.equal(true);
    const summaries = $$(el, '[part=chart-summary]').map((p) => p.textContent);
    expect(summaries[0]).to.match(/^Conversations: 12 over 30 days, at most 5 \(/);
    expect(summaries[1]).to.contain('Visitor messages: 36 over 30 days').and.contain('Agent replies: 36 over 30 days');
    expect(summaries[3]).to.match(/^Average response time: 1\.\d s on average over 30 days, at most 1\.5 s/);
    // the figures as a table: one row per day, days without activity at zero
    const table = $(el, '[part=data-table] table')!;
    expect(table.querySelectorAll('tbody tr')).to.have.length(30);
    const last = [...table.querySelectorAll('tbody tr')].at(-1)!;
    expect([...last.children].map((c) => c.textContent)).to.deep.equal([
      new Intl.DateTimeFormat('en', { dateStyle: 'medium', timeZone: 'UTC' }).format(new Date(`${isoDay(0)}T00:00:00Z`)),
      '4', '12', '12', '4,000', '1.4 s', '1', '0',
    ]);
    expect([...table.querySelectorAll('tbody tr')][1]!.children[1]!.textContent).to.equal('0');
    await expect(el).to.be.accessible();
  });

  it('reads another period, and redraws the charts for the dark theme', async () => {
    const a = seed();
    const el = await signedIn();
    await openAgent(el, a.id, 'statistics');
    await waitUntil(() => $$(el, '.chart canvas').length === 5, 'charts', { timeout: 8000 });
    const select = $<HTMLSelectElement>(el, '#stats-days')!;
    expect($(el, 'label[for=stats-days]')!.textContent).to.equal('Period');
    select.value = '7';
    select.dispatchEvent(new Event('change'));
    await waitUntil(() => api.callsTo('GET', /\/daily$/).some((c) => c.url.searchParams.get('days') === '7'));
    await waitUntil(() => $$(el, '[part=data-table] tbody tr').length === 7);
    const before = $(el, '.chart .uplot');
    const lightGrid = getComputedStyle(el).getPropertyValue('--mistral-console-chart-grid').trim();
    el.theme = 'dark';
    await el.updateComplete;
    await waitUntil(() => $(el, '.chart .uplot') && $(el, '.chart .uplot') !== before, 'charts redrawn');
    expect(getComputedStyle(el).getPropertyValue('--mistral-console-chart-grid').trim()).not.to.equal(lightGrid);
    await frames();
    await expect(el).to.be.accessible();
  });

  it('fills the days the API leaves out, in UTC', () => {
    const now = Date.UTC(2026, 4, 10, 15);
    const { ts, rows } = fillDays([{ ...day(0, 1), day: '2026-05-08' }], 3, now);
    expect(ts.map((t) => new Date(t * 1000).toISOString().slice(0, 10))).to.deep.equal(['2026-05-08', '2026-05-09', '2026-05-10']);
    expect(rows.map((r) => r?.conversations ?? null)).to.deep.equal([1, null, null]);
  });

  it('says there was no activity, and still draws empty charts', async () => {
    const a = api.addAgent();
    const el = await signedIn();
    await openAgent(el, a.id, 'statistics');
    await find(el, '.empty');
    expect(text(el, '.empty')).to.equal('No activity in this period.');
    expect($$(el, '[part=chart-summary]')[0]!.textContent).to.equal('Conversations: nothing in these 30 days.');
    expect(text(el, '.figure:last-child dd')).to.equal('Never');
  });
});
