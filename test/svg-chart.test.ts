import { expect } from 'chai';
import { escapeXml, niceScale, renderBarChart } from '../bench/lib/svg-chart';
import { serverCalls } from '../bin/cli/dashboard/collector';

describe('SVG bar chart (bench/lib/svg-chart)', () => {
  it('picks nice axis maxima', () => {
    expect(niceScale(941)).to.deep.equal({ max: 1000, step: 200 });
    expect(niceScale(3904)).to.deep.equal({ max: 4000, step: 1000 });
    expect(niceScale(7.3)).to.deep.equal({ max: 8, step: 2 });
    expect(niceScale(0)).to.deep.equal({ max: 1, step: 0.2 });
  });

  it('draws one bar per measured value, whiskers, n/a for missing ones, and escapes every text', () => {
    const svg = renderBarChart({
      title: 'a <b> & "c"', subtitle: 'line 1\nline 2', yLabel: 'ms',
      panels: [{ title: 'p', groups: ['SIGKILL <x>', 'other'], series: [
        { name: 'zk-ha', values: [900, null], whiskers: [1100, null] },
        { name: "kazoo's", values: [980, 5] },
      ] }],
    });
    expect(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg"')).to.equal(true);
    expect(svg.trimEnd().endsWith('</svg>')).to.equal(true);
    expect(svg).to.include('a &lt;b&gt; &amp; &quot;c&quot;');
    expect(svg).to.include('SIGKILL &lt;x&gt;');
    expect(svg).to.include('kazoo&apos;s');
    expect(svg).not.to.match(/<b>|<x>/);
    expect((svg.match(/<rect [^>]*><title>/g) ?? []).length).to.equal(3);
    expect(svg).to.include('>n/a</text>');
    expect(svg).to.include('line 2');
  });

  it('a legend wider than the chart wraps into rows that stay on the canvas', () => {
    const names = ['zk-ha (client-observed)', 'zk-ha (election)', 'Curator LeaderLatch', 'kazoo Election'];
    const svg = renderBarChart({ title: 't', yLabel: 'ms', panels: [{ title: 'p', groups: ['g'], series: names.map((name) => ({ name, values: [1] })) }] });
    const xs = [...svg.matchAll(/<rect x="(-?[\d.]+)" y="[\d.]+" width="12"/g)].map((m) => Number(m[1]));
    expect(xs).to.have.length(4);
    expect(Math.min(...xs)).to.be.at.least(0);
  });

  it('escapeXml covers the five XML specials', () => {
    expect(escapeXml(`<>&"'`)).to.equal('&lt;&gt;&amp;&quot;&apos;');
  });
});

describe('dashboard: call rate from a Prometheus scrape', () => {
  it('sums the server-side call counters only', () => {
    const text = [
      '# TYPE zkha_calls_total counter',
      'zkha_calls_total{service="s",role="server",method="a",code="OK"} 10',
      'zkha_calls_total{service="s",role="server",method="b",code="NOT_PRIMARY"} 5',
      'zkha_calls_total{service="s",role="client",method="a",code="OK"} 99',
      'zkha_epoch{service="s"} 3',
    ].join('\n');
    expect(serverCalls(text)).to.equal(15);
  });
});
