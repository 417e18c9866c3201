// The demo's clock across runs: the clock file a run saves (demoClockFile), where the next run
// starts from it (demoRestartPoint), and the services whose calls hold the paced clock
// (demoTrackedServices). demoCommand and the tests import them from here.
export { DemoClockFile, type SavedClock, type SavedWrite, type StoredHolding } from "./demoClockFile";
export { type RestartPoint, restartPoint, writeTick } from "./demoRestartPoint";
export { type TrackedStore, trackedServices } from "./demoTrackedServices";
