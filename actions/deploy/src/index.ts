import { run } from './main.js';

// A deploy command may leave a process behind that holds our output open (`./start-server &`); once the outcome is
// published there is nothing left to wait for.
void run().then(() => process.exit());
