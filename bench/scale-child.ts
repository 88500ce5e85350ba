// bench/scale.ts's measuring process, started once per runtime: argv is the database URL, the
// module's entry to import (the sources under tsx, the compiled build under plain node) and `full`
// or `memory` (see measure). It sends its result to the parent and exits.
import { measure } from './scale-measure.js';

const [url, entryUrl, scope] = process.argv.slice(2);
const result = await measure(url!, entryUrl!, scope === 'full');
process.send!(result, () => process.exit(0));
