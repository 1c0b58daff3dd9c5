// Downloading a record operation's recording
export { downloadRecording, openRecording, RecordingError, RECORDING_DOWNLOAD_DEFAULTS } from './download.js';
export type { RecordingDownload, RecordingDownloadOptions, RecordingErrorCode, RecordingSource, RecordingStream } from './download.js';
