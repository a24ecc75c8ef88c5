import { expect } from 'chai';
import { areaOf, byArea, type CpuProfile, selfTimes } from '../bench/lib/cpuprofile';

describe('bench cpuprofile summary', () => {
  const frame = (functionName: string, url: string, lineNumber = 0) => ({ functionName, url, lineNumber });
  const profile: CpuProfile = {
    nodes: [
      { id: 1, callFrame: frame('(root)', '') },
      { id: 2, callFrame: frame('publish', 'file:///w/lib/coordination/membership-view.js', 399) },
      { id: 3, callFrame: frame('(idle)', '') },
      { id: 4, callFrame: frame('getData', 'file:///w/node_modules/node-zookeeper-client/index.js', 586) },
    ],
    startTime: 0,
    endTime: 10000,
    // each sample stands for the gap until the next one
    samples: [2, 2, 3, 4, 2],
    timeDeltas: [0, 1000, 2000, 4000, 500],
  };

  it('sums self time per function from the sample gaps', () => {
    const times = selfTimes([profile, profile]);
    const get = (key: string) => times.find((t) => t.key === key)?.ms;
    expect(get('publish lib/coordination/membership-view.js:400')).to.equal(2 * (1 + 2 + 0));
    expect(get('(idle)')).to.equal(2 * 4);
    expect(get('getData node-zookeeper-client/index.js:587')).to.equal(2 * 0.5);
    expect(times[1]!.key).to.equal('publish lib/coordination/membership-view.js:400');
  });

  it('groups by area', () => {
    expect(areaOf('node:internal/timers', 'listOnTimeout')).to.equal('node');
    expect(areaOf('', '(garbage collector)')).to.equal('gc');
    expect(areaOf('', 'writeBuffer')).to.equal('native');
    expect(areaOf('file:///x/node_modules/@scope/pkg/a.js', 'f')).to.equal('@scope/pkg');
    expect(areaOf('file:///x/lib/zk/client-fixes/reply-guard.ts', 'f')).to.equal('lib/zk');
    expect(byArea(selfTimes([profile])).map((a) => a.area)).to.deep.equal(['idle', 'lib/coordination', 'node-zookeeper-client']);
  });
});
