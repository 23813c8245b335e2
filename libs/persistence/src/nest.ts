import { Injectable, Module, type DynamicModule, type OnApplicationShutdown } from '@nestjs/common';
import { DataSource } from 'typeorm';
import type { Database } from './index.js';

@Injectable()
class DataSourceShutdown implements OnApplicationShutdown {
  constructor(private readonly dataSource: DataSource) {}

  async onApplicationShutdown(): Promise<void> {
    if (this.dataSource.isInitialized) await this.dataSource.destroy();
  }
}

/**
 * The service's DataSource for every module (global), injected by its class: connected at boot,
 * closed at shutdown after the service's own providers have stopped (Nest stops the importing
 * module first).
 */
@Module({})
export class DatabaseModule {
  static forRoot(database: Database, url: string): DynamicModule {
    return {
      module: DatabaseModule,
      global: true,
      // A factory: initialize() connects, asynchronously, before any repository is made.
      providers: [{ provide: DataSource, useFactory: () => database.createDataSource(url).initialize() }, DataSourceShutdown],
      exports: [DataSource],
    };
  }
}
