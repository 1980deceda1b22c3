/**
 * Several bench runs side by side: one run on this machine is one sample (docs/performance.md),
 * so a row's verdict should be read over several. Prints a Markdown table, one line per target
 * row (the target's text before ': '), one column per run (value and PASS/FAIL, `!` where the run marked the figure invalid),
 * and how many runs passed.
 * Run: node packages/bench/summarize.mjs bench/results/<a>.json bench/results/<b>.json ...
 */
import { readFileSync } from 'node:fs';
import { basename } from 'node:path';

const files = process.argv.slice(2);
if (files.length === 0) {
  console.error('usage: node packages/bench/summarize.mjs <result.json> ...');
  process.exit(2);
}
const runs = files.map((file) => ({ file, ...JSON.parse(readFileSync(file, 'utf8')) }));
/** A row's name: the target's text before its colon. */
const rowName = (evaluation) => evaluation.target.split(': ')[0].trim();
const names = [];
for (const run of runs) {
  for (const evaluation of run.evaluations) {
    if (!names.includes(rowName(evaluation))) names.push(rowName(evaluation));
  }
}
const cell = (text) => String(text).replaceAll('|', '\\|');
const header = runs.map(
  (run) =>
    `${basename(run.file, '.json')} (${run.meta.commit}, load ${run.meta.loadAverageAtStart?.toFixed?.(1) ?? '?'})`,
);
console.log(`| row | ${header.map(cell).join(' | ')} | passed |`);
console.log(`|---|${runs.map(() => '---|').join('')}---|`);
for (const name of names) {
  let passed = 0;
  let counted = 0;
  const cells = runs.map((run) => {
    const evaluation = run.evaluations.find((e) => rowName(e) === name);
    if (!evaluation) return '–';
    counted += 1;
    if (evaluation.status === 'PASS') passed += 1;
    return `${evaluation.value} **${evaluation.status}**${evaluation.invalid ? ' !' : ''}`;
  });
  console.log(`| ${cell(name)} | ${cells.map(cell).join(' | ')} | ${passed} of ${counted} |`);
}
