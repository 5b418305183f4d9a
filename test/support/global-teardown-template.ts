export { teardown as default } from './packaged-prod';
