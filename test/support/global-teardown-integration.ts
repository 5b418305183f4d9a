export { teardown as default } from './moto';
