// Mocha's spec reporter, plus the run's counts written as JSON to $MOCHA_COUNT_FILE (read by .ci/run).
"use strict";
const fs = require("fs");
const Mocha = require("mocha");

class CountReporter extends Mocha.reporters.Spec {
    constructor(runner, options) {
        super(runner, options);
        runner.once(Mocha.Runner.constants.EVENT_RUN_END, () => {
            if (process.env.MOCHA_COUNT_FILE) {
                const { passes, failures, pending } = this.stats;
                fs.writeFileSync(
                    process.env.MOCHA_COUNT_FILE,
                    JSON.stringify({ passed: passes, failed: failures, pending }),
                );
            }
        });
    }
}

module.exports = CountReporter;
