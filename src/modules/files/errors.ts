/** DATA_FILE does not exist (or a folder on its path is a file): the route answers 404. */
export class DataFileMissing extends Error {
  override name = 'DataFileMissing';
  constructor(options?: ErrorOptions) {
    super('The data file does not exist', options);
  }
}
