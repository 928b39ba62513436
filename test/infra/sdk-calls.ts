/**
 * The AWS calls each Lambda's code can make, read from the code itself. The same reader serves
 * `ebship doctor`, which simulates these calls against the deployed roles: one source for both.
 */
export { callsOf } from '../../cli/doctor/deploy-calls.js';
