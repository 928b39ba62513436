/**
 * The AWS calls each Lambda's code can make, read from the code itself, and the grants AWS checks on
 * the caller while serving them. The same reader serves `ebship doctor`, which simulates these
 * calls against the deployed roles: one source for both.
 */
export { callsOf, ON_BEHALF } from '../../cli/doctor/deploy-calls.js';
