export {
  BASE_IMAGE_REPOSITORY,
  baseImageRecipe,
  baseImageTag,
  buildBaseImage,
  importRootfsImage,
} from './base-image.ts';
export type { BuildBaseImageOptions, BuildBaseImageResult } from './base-image.ts';
export { DEFAULT_DOCKER_SOCKET, connectDocker, dockerUnavailable } from './docker-connection.ts';
