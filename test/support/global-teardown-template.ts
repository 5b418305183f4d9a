export { teardown as default } from './packaged-stages';
